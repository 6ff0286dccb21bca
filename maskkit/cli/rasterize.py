"""``maskkit rasterize``: vector polygons -> a GeoTIFF label map on a reference raster's grid."""

from __future__ import annotations

import argparse

from maskkit.cli._output import output_file, plural, say


def add_parser(sub) -> None:
    p = sub.add_parser(
        "rasterize",
        help="burn vector polygons into a GeoTIFF label map aligned with a reference raster",
        description=(
            "Burn the polygons and multipolygons (holes kept) of a vector file into a tiled, "
            "deflate-compressed GeoTIFF with the size, transform and CRS of a reference "
            "raster, pixel-identical to rasterio.features.rasterize. Geometries in another "
            "CRS are reprojected first. GeoJSON is read directly; other formats need the "
            "optional package pyogrio."
        ),
        epilog="The summary goes to stderr. Exit status: 0 success, 1 error (the message "
               "names the file and feature), 2 usage, 130 interrupted.",
    )
    p.add_argument("vector", metavar="VECTOR", help="GeoJSON file (or any OGR format with pyogrio)")
    p.add_argument("--like", required=True, metavar="REFERENCE.tif",
                   help="raster whose grid, transform and CRS the output takes")
    p.add_argument("-o", "--output", required=True, metavar="OUT.tif",
                   help="GeoTIFF to write (atomically; locked while written)")
    p.add_argument("--attribute", metavar="FIELD", default=None,
                   help="integer property holding each feature's label (default: number the "
                        "features 1..N in file order)")
    p.add_argument("--all-touched", action="store_true",
                   help="burn every pixel a polygon touches (default: pixel centres)")
    p.add_argument("--invalid", choices=["repair", "reject", "keep"], default="repair",
                   help="invalid polygons (self-intersections, bow-ties): repair with "
                        "make_valid and report (default), stop with an error, or burn as given")
    p.add_argument("--vector-crs", metavar="CRS", default=None,
                   help="CRS of the vector coordinates when the file does not declare one "
                        "(GeoJSON default: EPSG:4326 longitude/latitude)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="threads for validity checks and painting (default: every core; "
                        "the pixels are the same with any number)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from maskkit.datasets.vector import rasterize_vector

    start = time.monotonic()
    with output_file(args.output) as out:
        report = rasterize_vector(
            args.vector, args.like, out, attribute=args.attribute,
            all_touched=args.all_touched, invalid=args.invalid, vector_crs=args.vector_crs,
            threads=args.threads,
        )
    if not args.quiet:
        for name, reason in report.repaired:
            say("rasterize", f"{args.vector}: {name}: repaired ({reason})")
        for name, reason in report.skipped:
            say("rasterize", f"{args.vector}: {name}: skipped ({reason})")
        h, w = report.shape
        say("rasterize",
            f"{plural(report.features, 'feature')}, {plural(report.burned, 'polygon')} "
            f"burned, {len(report.repaired)} repaired, {len(report.skipped)} skipped"
            f"{', reprojected' if report.reprojected else ''} -> {report.path} "
            f"({w}x{h} {report.dtype}) in {time.monotonic() - start:.2f} s")
    return 0
