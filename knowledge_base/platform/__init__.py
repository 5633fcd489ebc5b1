"""The link to the online government service (approval) platform, 一体化政务服务平台: a signed HTTP client
(case status, service items, results pushed back) and the inbound events webhook. See docs/PLATFORM.md."""
