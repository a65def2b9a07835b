"""Pricing: the one Black kernel, American exercise, Greeks, implied vol and the vol surface.

Modules
-------
black       the normalized Black calculator (forward, total std-dev, discount) and ``bs_price``
american    Andersen-Lake-Offengenden American prices (calls by McDonald-Schroder symmetry)
greeks      analytic European and finite-difference American Greeks
impliedvol  vectorized implied vol for both exercise styles
surface     the vol surface fitted to an option chain

Units follow the glossary of :mod:`engine.pricing.black`: time in years ACT/365, continuous
rates, annualized decimal vol, money per share.
"""
