"""Benchmark S3 deploys: a full deploy of a synthetic build, then one after 1% of p2 files change.

    .venv/bin/python bench/bench_deploy.py [--packages 12227] [--change 0.01] [--workers 16]
        [--endpoint-url URL --bucket NAME]   (default: a throw-away local seaweedfs server)

Each package has a tagged and a ~dev p2 file, so 12,227 packages (the size of the real
2024 plugin corpus) make 24,454 p2 files. Prints a table: files, uploaded, bytes, seconds.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from curator.build import synthetic
from curator.build.manifest import FileCache, validate_build
from curator.deploy.locals3 import local_s3
from curator.deploy.s3 import DeployReport, S3Bucket, deploy_build, ensure_bucket, make_client
from curator.deploy.verify import verify_bucket


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=12_227)
    parser.add_argument("--change", type=float, default=0.01, help="fraction of p2 files")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--endpoint-url", help="use this S3 endpoint instead of seaweedfs")
    parser.add_argument("--bucket", default="curator-bench")
    parser.add_argument("--prefix", default=f"bench-{int(time.time())}")
    parser.add_argument("--verify", action="store_true", help="also time a full verify")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str, str]] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-deploy-")))
        if args.endpoint_url:
            client = make_client(endpoint_url=args.endpoint_url)
        else:
            t = time.perf_counter()
            server = stack.enter_context(local_s3(tmp / "s3"))
            print(f"seaweedfs up in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            client = make_client(
                endpoint_url=server.endpoint_url,
                access_key=server.access_key,
                secret_key=server.secret_key,
                max_pool_connections=args.workers + 4,
            )
        ensure_bucket(client, args.bucket)
        target = S3Bucket(client, args.bucket, args.prefix)

        names = synthetic.package_names(args.packages, seed=1)
        t = time.perf_counter()
        m1 = synthetic.write(tmp / "b1", names, label="one")
        write_s = time.perf_counter() - t
        t = time.perf_counter()
        assert validate_build(tmp / "b1") == []
        validate_s = time.perf_counter() - t
        print(
            f"build: {len(m1.files):,} files, {m1.total_bytes / 1e6:.1f} MB "
            f"(written in {write_s:.1f} s, validated in {validate_s:.2f} s)",
            file=sys.stderr,
        )

        def row(label: str, report: DeployReport) -> None:
            rows.append(
                (
                    label,
                    f"{report.files:,}",
                    f"{report.uploaded:,}",
                    f"{report.bytes_uploaded / 1e6:.1f} MB",
                    f"{report.seconds:.1f}",
                )
            )

        # as `curator deploy` does for stored builds: files an earlier validation read are
        # not read again (b2 is written afresh, so only "same build again" profits)
        cache = FileCache()
        row("full deploy", deploy_build(tmp / "b1", target, workers=args.workers, cache=cache))

        p2 = sorted(p for p in m1.files if p.startswith("p2/"))
        changed = random.Random(2).sample(p2, max(1, int(len(p2) * args.change)))
        synthetic.write(tmp / "b2", names, revisions=dict.fromkeys(changed, 1), label="two")
        row(
            f"{args.change:.0%} changed ({len(changed)} p2)",
            deploy_build(tmp / "b2", target, workers=args.workers, cache=cache),
        )
        cache = FileCache(cache.seen)  # what a saved and reloaded cache holds
        row(
            "same build again",
            deploy_build(tmp / "b2", target, workers=args.workers, cache=cache),
        )
        if args.verify:
            m2 = synthetic.write(
                tmp / "b3", names, revisions=dict.fromkeys(changed, 1), label="two"
            )
            t = time.perf_counter()
            mismatches = verify_bucket(target, m2, workers=args.workers)
            rows.append(
                (
                    "verify (download all)",
                    f"{len(m2.files):,}",
                    "-",
                    "-",
                    f"{time.perf_counter() - t:.1f}",
                )
            )
            assert mismatches == [], mismatches[:5]

    header = ("deploy", "files", "uploaded", "bytes", "seconds")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
