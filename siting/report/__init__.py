"""Reports: ranked placements, baselines, marginal values; CSV, Markdown, GeoJSON, HTML."""

from siting.report.analysis import Report, build_report
from siting.report.render import write_report

__all__ = ["Report", "build_report", "write_report"]
