"""Trustee review tools: checking override files (:mod:`curator.review.validate`) and the
Composer-visible difference between two commits (:mod:`curator.review.diff`)."""
