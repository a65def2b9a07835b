"""Data: reading and validating the files volarb takes in, the exchange calendar, the examples.

Modules
-------
positions  the positions CSV (options and share lots), OCC symbols, the plan's example book
ivhistory  the implied-vol history and IV rank / percentile
calendar   the exchange calendar (exchange-calendars): monthly expirations, trading days
examples   the built-in example files shipped beside this module (``example_*.csv``)

The example files (``example_*.csv``, ``example_config.toml``) live in this folder.
"""
