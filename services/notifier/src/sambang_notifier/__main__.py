"""``python -m sambang_notifier``: run the notifier service alone on its port."""

from sambang_runtime.service import run_service

from .app import DESCRIPTOR

if __name__ == "__main__":
    run_service(DESCRIPTOR)
