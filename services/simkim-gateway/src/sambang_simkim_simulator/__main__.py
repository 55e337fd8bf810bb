"""``python -m sambang_simkim_simulator``: run the SIMKIM simulator alone on its port (8099)."""

from sambang_runtime.service import run_service
from sambang_simkim_gateway.simulator.app import DESCRIPTOR

if __name__ == "__main__":
    run_service(DESCRIPTOR)
