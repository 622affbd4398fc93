"""Deploying builds: planning (``plan``), S3/R2 upload (``s3``), verification (``verify``).

Only :mod:`curator.deploy.s3` imports boto3; ``locals3`` runs a throw-away seaweedfs server
for tests and benchmarks.
"""
