"""``python -m sambang_simkim_simulator`` starts the SIMKIM simulator.

The launcher and the deployment manifests start each service as ``python -m sambang_<name>``; the
simulator lives in ``sambang_simkim_gateway.simulator`` and this package only gives it that name.
"""
