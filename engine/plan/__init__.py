"""The plan's rules: allocation, margin, hedges, Kelly limits, assignment, orders, projection.

Modules
-------
allocation  the 80/20 premium split, strike allocation and reinvestment priorities
margin      capital and margin per contract under the cash and Reg T models
hedge       the dynamic hedge ratio and the long-call hedge ladder
kelly       Kelly position limits (and their inputs from a trade journal)
assignment  the assignment playbook and share-lot lifecycle
orders      order tickets under the execution rules (10-lot slices, ticks, windows)
rebalance   the book moved toward the plan: put targets, close-if-profitable, the call-hedge restructure
projection  the deterministic six-month projection and the audit of the plan's printed figures
"""
