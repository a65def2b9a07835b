"""Risk: the marked book, the daily checks and alerts, VaR/ES, the Monte Carlo, the weekly review.

Modules
-------
book      mark every position (value, P&L, Greeks, margin, status) and the strike ladder
checks    portfolio Greeks, strike obligations and the plan's daily alerts
var       one-day VaR and expected shortfall (full revaluation, delta-gamma, historical)
simulate  Monte Carlo of the whole plan
review    the weekly review and its performance metrics
scenarios trader views: spot x vol stress grid, P&L curves and breakevens, exposure by expiry/strike, calendar
"""
