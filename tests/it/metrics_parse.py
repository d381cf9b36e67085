"""Reads a Prometheus text-format file with prometheus_client's parser (a parser nobody in
this project wrote) and prints its families as JSON: {family: {type, help, samples: [[name,
labels, value]]}}. Fails (exit 1) on anything the parser refuses. Used by tests/it/metrics.rs.

Usage: python metrics_parse.py FILE
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    families = {}
    for family in text_string_to_metric_families(text):
        if family.name in families:
            print(f"family {family.name} appears twice", file=sys.stderr)
            return 1
        families[family.name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [
                [s.name, s.labels, None if math.isnan(s.value) else s.value]
                for s in family.samples
            ],
        }
    json.dump(families, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
