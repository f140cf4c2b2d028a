#!/usr/bin/env python3
"""CDK entry point (cdk.json ``app``): ``cdk synth --all`` or ``cdk synth -c env=dev``."""

from infra.cdk_app import build_app


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
