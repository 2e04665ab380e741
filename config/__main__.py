"""python -m config [--config regions.toml] regions|home-region|check

For the workflows: `regions` prints the configured regions as a JSON list for the deploy and drift
matrices: Identity Center's home region first (its job deploys trustbase-identity, whose OIDC
provider every region's pipeline roles trust), then the others in config order; `home-region` prints
[access] home_region; `check` validates the config. A config error is printed with its fix and
exits 2, before any job starts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from config import DEFAULT_CONFIG_FILE, ConfigError, load_config_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config", description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("regions", "home-region", "check"))
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG_FILE)
    args = parser.parse_args(argv)
    try:
        config = load_config_file(args.config)
    except ConfigError as exc:
        print(f"{exc}\n(config file: {args.config})", file=sys.stderr)
        return 2
    if args.what == "regions":
        home = config.access.home_region
        names = [r.name for r in config.regions]
        print(json.dumps([n for n in names if n == home] + [n for n in names if n != home]))
    elif args.what == "home-region":
        print(config.access.home_region)
    else:
        print(f"{args.config}: valid, {len(config.regions)} region(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
