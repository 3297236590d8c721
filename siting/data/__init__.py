"""Data layer: dataset registry, downloader/cache, loaders, candidate sites."""
