"""`python -m service.cli`: the same as the `kith` script."""

from . import main

if __name__ == "__main__":  # not when a tool walks the package and imports every module
    main()
