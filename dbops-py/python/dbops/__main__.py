"""``python -m dbops ...``: the same command-line tool as the ``dbops`` binary."""

import sys

from ._dbops import cli_main


def main() -> None:
    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
