"""``maskkit panoptic``: merge, convert and check COCO panoptic datasets.

Output datasets follow panopticapi's convention: ``-o OUT.json`` writes the JSON there and
the PNGs into the folder ``OUT/``.  Every file is written atomically; the outputs are
locked while written.  ``merge``, ``from-coco`` and ``from-2ch`` name each PNG after the
base name of the image's ``file_name`` and refuse, before writing anything, two images
that would share one; ``to-semantic`` keeps the sub-folders of the panoptic
``file_name``.  Results (``check``'s problems) go to stdout; summaries and warnings to
stderr.

``merge``, ``to-semantic`` and ``from-2ch`` write one PNG per image and keep a hidden
manifest beside the PNGs (``.panoptic_<action>_manifest.jsonl``, see
:mod:`maskkit.io.manifest`): one line per finished image with the sha256 of its PNG and its
``segments_info``.  ``--resume`` keeps the PNGs that still have the recorded content, redoes
the others, and writes the JSON with every image, as an uninterrupted run would.
"""

from __future__ import annotations

import argparse
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maskkit.cli._common import add_batch_options, batch_kwargs, error_record, write_errors
from maskkit.cli._output import (
    EXIT_SKIPPED,
    output_dataset,
    output_file,
    output_folder,
    plural,
    say,
    warn,
)
from maskkit.datasets.panoptic import from_2ch_image, merge_image, to_semantic_image


def add_parser(sub) -> None:
    p = sub.add_parser(
        "panoptic",
        help="merge, convert and check COCO panoptic datasets",
        description="Merge, convert and check datasets in the COCO panoptic format "
                    "(RGB-id PNGs + JSON).",
    )
    ps = p.add_subparsers(dest="panoptic_command", metavar="ACTION", required=True)

    def common(q, *, workers=True):
        if workers:
            add_batch_options(q, on_error_help=(
                "on a bad image: stop with exit status 1 (raise, default) or leave it out "
                "of the output, list it in OUT.errors.jsonl and exit with status 3"),
                resume_help=(
                "finish an interrupted run: keep the output PNGs that a hidden manifest in "
                "the output folder records with the same content (sha256) and options, "
                "redo the others; the outputs are those of an uninterrupted run"))
            q.add_argument("--quiet", action="store_true", help="no progress display")

    q = ps.add_parser("merge", help="semantic + instance predictions -> panoptic "
                                    "(panoptic-FPN heuristic)")
    q.add_argument("--semantic", required=True, metavar="SEM_DIR_OR_JSON",
                   help="folder of semantic PNGs (category per pixel, 0 = unlabeled) or a "
                        "COCO-stuff JSON with RLE segmentations")
    q.add_argument("--instances", required=True, metavar="RESULTS.json",
                   help="COCO instance results (image_id, category_id, score, segmentation)")
    q.add_argument("--categories", required=True, metavar="CATS.json",
                   help="panoptic categories (list, or a dict with 'categories'; isthing)")
    q.add_argument("--images", metavar="IMAGES.json",
                   help="COCO JSON whose 'images' list the images (default: the semantic "
                        "JSON's images, or PNG names that are image ids)")
    q.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="panoptic JSON to write; the PNGs go into the folder OUT/, named "
                        "after the base name of file_name (two images on one name are "
                        "refused)")
    q.add_argument("--overlap-threshold", type=float, default=0.5, metavar="F",
                   help="drop an instance when more than this fraction of it is already "
                        "taken by higher-scored ones")
    q.add_argument("--stuff-area-threshold", type=int, default=4096, metavar="PX",
                   help="drop a stuff region with fewer free pixels than this")
    q.add_argument("--score-threshold", type=float, default=0.5, metavar="F",
                   help="drop instances scored below this")
    q.add_argument("--ignore-value", type=int, default=255, metavar="V",
                   help="semantic value that is not a category (VOID), as written by "
                        "'panoptic to-semantic' and 'coco2sem'; -1: none")
    common(q)
    q.set_defaults(func=run_merge)

    q = ps.add_parser("from-coco", help="COCO instances (+ stuff) -> panoptic")
    q.add_argument("instances", metavar="INSTANCES.json", help="COCO instances file")
    q.add_argument("--stuff", metavar="STUFF.json", help="COCO-stuff annotations")
    q.add_argument("--categories", metavar="CATS.json",
                   help="panoptic categories with isthing (default: the instance "
                        "categories, as things unless they carry isthing, and the stuff "
                        "categories as stuff; a warning says so)")
    q.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="panoptic JSON to write; the PNGs go into the folder OUT/, named "
                        "after the base name of file_name (two images on one name are "
                        "refused)")
    q.add_argument("--overlap", choices=["last", "area", "score", "void"], default="last",
                   help="who owns pixels claimed by several instances (default: last)")
    q.add_argument("--crowd", choices=["class", "ignore", "skip"], default="class",
                   help="crowd regions: a crowd segment in the overlap policy, a crowd "
                        "segment under the other instances, or left out (default: class)")
    q.set_defaults(func=run_from_coco)

    q = ps.add_parser("to-semantic", help="panoptic -> semantic label PNGs")
    q.add_argument("panoptic", metavar="PANOPTIC.json",
                   help="COCO panoptic JSON (its PNGs in --png-folder)")
    q.add_argument("--png-folder", metavar="DIR", help="default: PANOPTIC without .json")
    q.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="output folder: one PNG per image, the sub-folders of file_name kept, "
                        "and categories.json (value -> category)")
    q.add_argument("--things-as", type=int, metavar="ID",
                   help="merge all thing segments into this one class")
    q.add_argument("--unlabeled", type=int, default=255, metavar="V",
                   help="value of VOID pixels (default: 255)")
    q.add_argument("--categories", metavar="CATS.json",
                   help="categories with isthing (default: the panoptic JSON's)")
    common(q)
    q.set_defaults(func=run_to_semantic)

    q = ps.add_parser("to-coco", help="panoptic -> COCO instances with compressed RLE")
    q.add_argument("panoptic", metavar="PANOPTIC.json",
                   help="COCO panoptic JSON (its PNGs in --png-folder)")
    q.add_argument("--png-folder", metavar="DIR", help="default: PANOPTIC without .json")
    q.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="COCO instances JSON to write")
    q.add_argument("--things-only", action="store_true", help="keep thing segments only")
    q.add_argument("--categories", metavar="CATS.json",
                   help="categories with isthing (default: the panoptic JSON's)")
    q.set_defaults(func=run_to_coco)

    q = ps.add_parser("from-2ch", help="2-channel (category, instance) PNGs -> panoptic")
    q.add_argument("source", metavar="SRC_DIR", help="folder of 2-channel PNGs")
    q.add_argument("--images", required=True, metavar="IMAGES.json",
                   help="COCO JSON whose 'images' name the PNGs (<file stem>.png)")
    q.add_argument("--categories", required=True, metavar="CATS.json",
                   help="panoptic categories (list, or a dict with 'categories'; isthing)")
    q.add_argument("-o", "--output", required=True, metavar="OUT.json",
                   help="panoptic JSON to write; the PNGs go into the folder OUT/, named "
                        "after the base name of file_name (two images on one name are "
                        "refused)")
    q.add_argument("--void", type=int, default=0, metavar="CAT",
                   help="category value meaning VOID (default: 0)")
    common(q)
    q.set_defaults(func=run_from_2ch)

    q = ps.add_parser("check", help="validate a panoptic dataset; list every fault",
                      description="Validate a panoptic dataset: every fault on stdout, one "
                                  "per line; exit status 1 when there is any.")
    q.add_argument("panoptic", metavar="PANOPTIC.json",
                   help="COCO panoptic JSON (its PNGs in --png-folder)")
    q.add_argument("--png-folder", metavar="DIR", help="default: PANOPTIC without .json")
    q.add_argument("--categories", metavar="CATS.json",
                   help="categories to check against (default: the panoptic JSON's)")
    q.set_defaults(func=run_check)


# ---------------------------------------------------------------------------- helpers


def _check_names(jobs, name_of, image_id_of, file_name_of, *, reserved=None,
                 source=None) -> None:
    """Refuse, before anything is written, two images whose outputs share a name."""
    from maskkit.io import fs

    reserved = {".maskkit.lock": "the output folder's lock", **(reserved or {})}
    fs.check_output_names(
        ((fs.check_output_name(name_of(j), obj=f"image {image_id_of(j)}"),
          f"image {image_id_of(j)} (file_name {file_name_of(j)!r})") for j in jobs),
        reserved=reserved, source=source)


def _manifest_name(kind: str) -> str:
    return f".{kind}_manifest.jsonl"


def _load_categories(path):
    from maskkit.errors import InvalidAnnotationError
    from maskkit.io.files import read_json

    doc = read_json(path)
    cats = doc.get("categories") if isinstance(doc, dict) else doc
    if not isinstance(cats, list):
        raise InvalidAnnotationError("expected a list of categories or a dict with "
                                     "'categories'", source=path)
    return cats


def _progress(args):
    return False if getattr(args, "quiet", False) else None


@dataclass(frozen=True)
class _Resumable:
    """How a per-image action resumes: each job writes one file, ``out_dir /
    name_of(job)``; a hidden manifest there records each finished image (``image_id``,
    ``png``, ``sha256`` of the file, ``value`` returned by the job)."""

    kind: str  # manifest kind: "panoptic_merge" -> .panoptic_merge_manifest.jsonl
    options: dict  # what the outputs depend on: a resume with other options is refused
    out_dir: Path
    name_of: Callable  # module-level (it travels to the workers): job -> file name
    image_id_of: Callable

    @property
    def manifest(self) -> Path:
        return self.out_dir / _manifest_name(self.kind)


def _batch(func, items, args, errors_path=None,
           resumable: _Resumable | None = None) -> tuple[list, list]:
    """Run ``func`` over ``items`` with :func:`maskkit.parallel.run_batch`.

    Returns the values in input order (``None`` for an item skipped with ``--on-error
    skip``) and the errors file records; the errors file is written (or a stale one
    removed) when ``errors_path`` is given.  With ``resumable``, finished images are
    recorded in its manifest, and with ``--resume`` the images whose file still has the
    recorded content are not redone (their recorded value is returned).
    """
    from maskkit.parallel import run_batch

    items = list(items)
    out: list = [None] * len(items)
    records: list = []
    todo = list(range(len(items)))
    log = None
    if resumable is not None:
        from maskkit.io.manifest import ManifestLog, file_matches, read_manifest

        entries: dict = {}
        keep = None
        if getattr(args, "resume", False) and resumable.manifest.exists():
            entries, keep = read_manifest(resumable.manifest, resumable.kind,
                                          resumable.options, key="png")
        todo = []
        for i, job in enumerate(items):
            name = resumable.name_of(job)
            rec = entries.get(name)
            if (rec is not None and rec.get("image_id") == resumable.image_id_of(job)
                    and file_matches(resumable.out_dir / name, rec.get("sha256"))):
                out[i] = rec["value"]
            else:
                todo.append(i)
        log = ManifestLog(resumable.manifest, resumable.kind, resumable.options, keep=keep)
        func = functools.partial(_write_and_hash, func, str(resumable.out_dir),
                                 resumable.name_of)
    try:
        for res in run_batch(functools.partial(_call_indexed, func),
                             [(i, items[i]) for i in todo],
                             on_error=getattr(args, "on_error", "raise"), desc="images",
                             progress=_progress(args), **batch_kwargs(args)):
            if res.error is not None:
                warn(f"panoptic {args.panoptic_command}", f"{res.error}; skipped")
                records.append(error_record(res.item[1], res.error))
                continue
            i, value = res.value
            if log is not None:
                value, sha = value
                job = items[i]
                log.record({"image_id": resumable.image_id_of(job),
                            "png": resumable.name_of(job), "sha256": sha, "value": value})
            out[i] = value
    finally:
        if log is not None:
            log.close()
    if errors_path is not None:
        write_errors(errors_path, records)
    return out, records


def _write_and_hash(func, out_dir, name_of, job):
    """Run a job that writes ``out_dir / name_of(job)``; return its value and the sha256 of
    the file it wrote (read back: the writers do not hand out their bytes)."""
    from maskkit.io.manifest import sha256_file

    value = func(job)
    return value, sha256_file(Path(out_dir) / name_of(job))


def _done(records) -> int:
    return EXIT_SKIPPED if records else 0


def _call_indexed(func, item):
    return item[0], func(item[1])


def _write_dataset(out_json: Path, doc: dict) -> None:
    from maskkit.io.files import write_json

    write_json(out_json, doc)


# ---------------------------------------------------------------------------- merge


def run_merge(args: argparse.Namespace) -> int:
    from maskkit.errors import InvalidAnnotationError, InvalidInputError
    from maskkit.io.files import read_json

    cats = _load_categories(args.categories)
    things = {int(c["id"]) for c in cats if int(c.get("isthing", 0)) == 1}
    results = read_json(args.instances)
    if isinstance(results, dict):
        results = results.get("annotations", [])
    by_image: dict = {}
    for r in results:
        by_image.setdefault(r.get("image_id"), []).append(r)
    sem = Path(args.semantic)
    images = None
    if args.images:
        images = read_json(args.images).get("images")
    jobs = []
    if sem.is_dir():
        if images is None:
            images = []
            for png in sorted(sem.glob("*.png")):
                try:
                    images.append({"id": int(png.stem), "file_name": png.name})
                except ValueError:
                    raise InvalidInputError(
                        "semantic PNG name is not an image id; pass --images IMAGES.json",
                        source=png,
                    ) from None
        for img in images:
            name = Path(img["file_name"]).with_suffix(".png").name
            jobs.append((img["id"], name, str(sem / name), by_image.get(img["id"], [])))
    else:
        doc = read_json(sem)
        stuff_by_image: dict = {}
        for a in doc.get("annotations", []):
            stuff_by_image.setdefault(a.get("image_id"), []).append(a)
        if images is None:
            images = doc.get("images")
        if images is None:
            raise InvalidAnnotationError("semantic JSON has no 'images'; pass --images",
                                         source=sem)
        for img in images:
            name = Path(img["file_name"]).with_suffix(".png").name
            jobs.append((img["id"], name,
                         (int(img["height"]), int(img["width"]),
                          stuff_by_image.get(img["id"], []), str(sem)),
                         by_image.get(img["id"], [])))
    names = {img["id"]: img["file_name"] for img in images}
    _check_names(jobs, operator.itemgetter(1), operator.itemgetter(0),
                 lambda j: names.get(j[0]), reserved={
                     _manifest_name("panoptic_merge"): "merge's resume manifest"})
    ignore = None if args.ignore_value < 0 else args.ignore_value
    params = {"overlap_threshold": args.overlap_threshold,
              "stuff_area_threshold": args.stuff_area_threshold,
              "score_threshold": args.score_threshold}
    with output_dataset(args.output,
                        bookkeeping={_manifest_name("panoptic_merge")}) as (out_json, png_dir):
        resumable = _Resumable("panoptic_merge",
                               {**params, "things": sorted(things), "ignore_value": ignore},
                               png_dir, name_of=operator.itemgetter(1),
                               image_id_of=operator.itemgetter(0))
        known = frozenset(int(c["id"]) for c in cats)
        anns, errors = _batch(functools.partial(merge_image, things=things, params=params,
                                                png_dir=png_dir, ignore_value=ignore,
                                                known=known),
                              jobs, args, f"{out_json}.errors.jsonl", resumable)
        return _finish_dataset("merge", out_json, png_dir, images, anns, cats, errors)


def _finish_dataset(cmd, out_json, png_dir, images, anns, cats, errors) -> int:
    """Write the panoptic JSON of the images that succeeded and print the summary."""
    images = [img for img, a in zip(images, anns) if a is not None]
    anns = [a for a in anns if a is not None]
    _write_dataset(out_json, {"images": images, "annotations": anns, "categories": cats})
    n = sum(len(a["segments_info"]) for a in anns)
    say(f"panoptic {cmd}", f"{plural(len(anns), 'image')}, {plural(n, 'segment')} -> "
                           f"{out_json} + {png_dir}/"
                           + (f"; {len(errors)} skipped" if errors else ""))
    return _done(errors)


# ---------------------------------------------------------------------------- from-coco


def run_from_coco(args: argparse.Namespace) -> int:
    from maskkit.datasets.panoptic import coco_to_panoptic

    cats = _load_categories(args.categories) if args.categories else None
    with output_dataset(args.output) as (out_json, png_dir):
        doc = coco_to_panoptic(args.instances, png_dir, stuff=args.stuff, categories=cats,
                               overlap=args.overlap, crowd=args.crowd,
                               warn=lambda m: warn("panoptic from-coco", m))
        _write_dataset(out_json, doc)
    if not doc["annotations"]:
        warn("panoptic from-coco", f"{args.instances} lists no images; the dataset is empty")
    n = sum(len(a["segments_info"]) for a in doc["annotations"])
    say("panoptic from-coco", f"{plural(len(doc['annotations']), 'image')}, "
                              f"{plural(n, 'segment')} -> {out_json} + {png_dir}/")
    return 0


# ---------------------------------------------------------------------------- to-semantic


def run_to_semantic(args: argparse.Namespace) -> int:
    from maskkit.datasets.panoptic import png_name
    from maskkit.io.panoptic import load_panoptic_json, panoptic_annotations, panoptic_folder

    doc, jpath = load_panoptic_json(args.panoptic, "panoptic")
    folder = panoptic_folder(jpath, args.png_folder, "to-semantic")
    cats = _load_categories(args.categories) if args.categories else doc.get("categories", [])
    things = {int(c["id"]) for c in cats if int(c.get("isthing", 0)) == 1}
    jobs = []
    for a in panoptic_annotations(doc, source=jpath):
        name = png_name(a, source=jpath)
        # the output keeps the sub-folders of file_name, as the input PNGs have them
        rel = str(Path(name.replace("\\", "/")).with_suffix(".png"))
        jobs.append((str(folder / name), a["segments_info"], a.get("image_id"), rel))
    kind = "panoptic_to_semantic"
    _check_names(jobs, operator.itemgetter(3), operator.itemgetter(2),
                 lambda j: Path(j[0]).relative_to(folder).as_posix(), source=jpath,
                 reserved={"to_semantic_errors.jsonl": "the errors file to-semantic writes",
                           "categories.json": "the category mapping to-semantic writes",
                           _manifest_name(kind): "to-semantic's resume manifest"})
    with output_folder(args.output, bookkeeping={_manifest_name(kind)}) as out_dir:
        resumable = _Resumable(kind, {"things": sorted(things), "things_as": args.things_as,
                                      "unlabeled": args.unlabeled}, out_dir,
                               name_of=operator.itemgetter(3),
                               image_id_of=operator.itemgetter(2))
        names, errors = _batch(
            functools.partial(to_semantic_image, things=things, things_as=args.things_as,
                              unlabeled=args.unlabeled, out_dir=str(out_dir)),
            jobs, args, out_dir / "to_semantic_errors.jsonl", resumable)
        _write_semantic_categories(out_dir / "categories.json", cats, things, args)
    names = [x for x in names if x is not None]
    say("panoptic to-semantic", f"{plural(len(names), 'image')} -> {out_dir}/ (value -> "
                                f"category in {out_dir / 'categories.json'})"
                                + (f"; {len(errors)} skipped" if errors else ""))
    return _done(errors)


def _write_semantic_categories(path, cats, things, args) -> None:
    """What each value of the semantic PNGs means, as coco2sem's categories.json."""
    from maskkit.io.files import write_json

    rows = []
    for c in sorted(cats, key=lambda c: int(c["id"])):
        cid = int(c["id"])
        if args.things_as is not None and cid in things:
            continue
        rows.append({"value": cid, "category_id": cid, "name": c.get("name"),
                     "supercategory": c.get("supercategory"), "isthing": int(cid in things)})
    if args.things_as is not None:
        rows.append({"value": args.things_as, "category_id": None, "name": "things",
                     "merged_category_ids": sorted(things), "isthing": 1})
    write_json(path, {"unlabeled": args.unlabeled, "things_as": args.things_as,
                      "categories": rows}, indent=1)


# ---------------------------------------------------------------------------- to-coco


def run_to_coco(args: argparse.Namespace) -> int:
    from maskkit.datasets.panoptic import panoptic_to_coco

    cats = _load_categories(args.categories) if args.categories else None
    with output_file(args.output) as out:
        doc = panoptic_to_coco(args.panoptic, args.png_folder, things_only=args.things_only,
                               categories=cats)
        _write_dataset(out, doc)
    say("panoptic to-coco", f"{plural(len(doc['annotations']), 'annotation')} -> {out}")
    return 0


# ---------------------------------------------------------------------------- from-2ch


def run_from_2ch(args: argparse.Namespace) -> int:
    from maskkit.io.files import read_json

    cats = _load_categories(args.categories)
    images = read_json(args.images).get("images", [])
    jobs = []
    for img in images:
        name = Path(img["file_name"]).with_suffix(".png").name
        jobs.append((str(Path(args.source) / name), name, img["id"]))
    names = {img["id"]: img["file_name"] for img in images}
    kind = "panoptic_from_2ch"
    _check_names(jobs, operator.itemgetter(1), operator.itemgetter(2),
                 lambda j: names.get(j[2]),
                 reserved={_manifest_name(kind): "from-2ch's resume manifest"})
    with output_dataset(args.output, bookkeeping={_manifest_name(kind)}) as (out_json,
                                                                              png_dir):
        resumable = _Resumable(kind, {"void": args.void, "categories": cats},
                               png_dir, name_of=operator.itemgetter(1),
                               image_id_of=operator.itemgetter(2))
        anns, errors = _batch(functools.partial(from_2ch_image, void=args.void, cats=cats,
                                                png_dir=str(png_dir)), jobs, args,
                              f"{out_json}.errors.jsonl", resumable)
        return _finish_dataset("from-2ch", out_json, png_dir, images, anns, cats, errors)


# ---------------------------------------------------------------------------- check


def run_check(args: argparse.Namespace) -> int:
    from maskkit.datasets.panoptic import check_panoptic

    cats = _load_categories(args.categories) if args.categories else None
    problems = check_panoptic(args.panoptic, args.png_folder, categories=cats)
    for p in problems:
        print(p)
    if problems:
        say("panoptic check", f"{plural(len(problems), 'problem')} in {args.panoptic}")
        return 1
    say("panoptic check", f"{args.panoptic}: no problems")
    return 0
