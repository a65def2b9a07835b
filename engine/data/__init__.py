"""Data: reading and validating the files volarb takes in, the exchange calendar, the examples.

Modules
-------
tables     the opening steps every reader shares (read_csv_text, read_text_table) and parse_date
positions  the positions CSV (options and share lots), OCC symbols, the plan's example book
chain      the option-chain CSV (solved into a vol surface by engine.pricing.surface)
ivhistory  the implied-vol history and IV rank / percentile
prices     daily close histories (historical VaR, the review's second series)
journal    the trade journal and the daily equity history (the weekly review's inputs)
calendar   the exchange calendar (exchange-calendars): monthly expirations, trading days
examples   the built-in example files shipped beside this module (``example_*.csv``)

The example files (``example_*.csv``, ``example_config.toml``) live in this folder.
"""
