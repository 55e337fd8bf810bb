"""``python -m sambang_runtime.deployment [root]`` (make deploy-manifests), ``... secrets`` (make secrets)."""

from .render import main

raise SystemExit(main())
