"""``python -m sambang_simkim_gateway``: run the SIMKIM gateway alone on its port."""

from sambang_runtime.service import run_service

from .app import DESCRIPTOR

if __name__ == "__main__":
    run_service(DESCRIPTOR)
