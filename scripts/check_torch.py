"""Refuse to continue with a CUDA build of torch: this product runs on the CPU build only."""

from __future__ import annotations

import sys


def main() -> int:
    """Exit non-zero, with the fix, when torch is missing or is a CUDA build."""
    try:
        import torch
    except ImportError:
        print("error: torch is not installed; run: pip install torch==2.13.0", file=sys.stderr)
        return 1
    if torch.version.cuda is not None or "+cpu" not in torch.__version__:
        print(
            f"error: torch {torch.__version__} is a CUDA build (cuda={torch.version.cuda}); "
            "remove it and install the CPU build first: pip install torch==2.13.0",
            file=sys.stderr,
        )
        return 1
    print(f"torch {torch.__version__} (CPU build) ok", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
