"""``index.html`` of a session: one sortable table row per video and athlete, with a
thumbnail, the key figures and links to the overlay, the dashboard and the data.

The page is one file with its style and script inline and relative links only, so it
works offline, from a USB stick or a shared folder.  Thumbnails are JPEG files in
``<output>/thumbnails/`` taken from the middle of each overlay (or of the video when there
is no overlay).  Clicking a column header sorts by it (again: the other way).

Opened as ``index.html#check-links`` (in a browser allowed to read local files), the page
checks that every link and image resolves and records the result on ``<body>``
(``data-checked``, ``data-broken``): the tests use it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pandas as pd

from .results import DASHBOARD_FILE, OVERLAY_FILE, RUN_FILE, SUMMARY_FILE, write_text

THUMBNAILS = "thumbnails"
THUMB_WIDTH = 240
#: The table's figure columns: (batch_summary column, header, decimals).
FIGURES: tuple[tuple[str, str, int], ...] = (
    ("duration_s", "duration s", 1),
    ("frames_tracked", "frames tracked", 0),
    ("lumbar_rom_deg", "lumbar ROM°", 1),
    ("thoracic_rom_deg", "thoracic ROM°", 1),
    ("cervical_rom_deg", "cervical ROM°", 1),
    ("trunk_rom_deg", "trunk ROM°", 1),
    ("trunk_peak_deg", "trunk peak°", 1),
    ("repetitions", "reps", 0),
    ("quality", "valid share", 2),
)


def thumbnail(folder: Path, source: Path | None, out: Path) -> Path | None:
    """A JPEG of the middle frame of ``folder/overlay.mp4`` (else of ``source``), at
    most :data:`THUMB_WIDTH` px wide; None when neither can be read."""
    import cv2

    from .results import atomic_path
    from .video import probe, read_frames

    for video in (folder / OVERLAY_FILE, source):
        if video is None or not Path(video).is_file():
            continue
        try:
            info = probe(video)
            frame = next(iter(read_frames(video, start_s=info.duration_s / 2)), None)
        except Exception:  # a thumbnail is never worth failing the index
            continue
        if frame is None:
            continue
        image = frame.image
        scale = THUMB_WIDTH / image.shape[1]
        small = cv2.resize(image, (THUMB_WIDTH, max(1, round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if ok:
            with atomic_path(out) as tmp:
                tmp.write_bytes(data.tobytes())
            return out
    return None


def _cell(value: Any, decimals: int) -> str:
    if value is None or isinstance(value, str) or pd.isna(value):
        return '<td data-v="">–</td>'
    number = float(value)
    return f'<td data-v="{number!r}">{number:.{decimals}f}</td>'


def _links(base: Path, folder: str) -> str:
    parts = []
    for name, label in ((OVERLAY_FILE, "overlay"), (DASHBOARD_FILE, "dashboard"),
                        (SUMMARY_FILE, "summary"), (RUN_FILE, "run.json")):
        if (base / folder / name).is_file():
            parts.append(f'<a href="{html.escape(f"{folder}/{name}")}">{label}</a>')
    return " ".join(parts)


def _rows(table: pd.DataFrame, base: Path) -> list[str]:
    thumbs: dict[str, str | None] = {}
    out = []
    for _, r in table.iterrows():
        folder = str(r["folder"])
        if folder not in thumbs:
            made = thumbnail(base / folder, Path(str(r["video"])),
                             base / THUMBNAILS / f"{folder.replace('/', '_')}.jpg")
            thumbs[folder] = made.relative_to(base).as_posix() if made else None
        thumb = thumbs[folder]
        img = (f'<img src="{html.escape(thumb)}" width="{THUMB_WIDTH // 2}" alt="">'
               if thumb else "")
        link = f"{folder}/{OVERLAY_FILE}" if (base / folder / OVERLAY_FILE).is_file() else None
        img_cell = f'<a href="{html.escape(link)}">{img}</a>' if link and img else img
        athlete = "" if pd.isna(r["athlete"]) else str(int(r["athlete"]))
        name = "" if pd.isna(r["name"]) else str(r["name"])
        who = html.escape(f"{athlete} {name}".strip())
        error = "" if pd.isna(r["error"]) else str(r["error"])
        status = html.escape(str(r["status"])) + (
            f'<div class="err">{html.escape(error)}</div>' if error else "")
        cells = [
            f"<td>{img_cell}</td>",
            f'<td data-v="{html.escape(folder)}">{html.escape(Path(str(r["video"])).name)}</td>',
            f'<td data-v="{html.escape(who)}">{who}</td>',
            f'<td data-v="{html.escape(str(r["status"]))}">{status}</td>',
            *(_cell(r.get(col), d) for col, _, d in FIGURES),
            f"<td>{_links(base, folder)}</td>",
        ]
        out.append(f'<tr class="{html.escape(str(r["status"]))}">{"".join(cells)}</tr>')
    return out


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse}th,td{padding:4px 8px;border-bottom:1px solid #ddd;
text-align:left;vertical-align:middle}th{cursor:pointer;background:#f4f4f4;position:sticky;
top:0}th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td[data-v]{font-variant-numeric:tabular-nums}tr.failed{background:#fff0f0}
.err{color:#a00;font-size:85%;max-width:30em}img{display:block;width:120px}
"""

_SCRIPT = """
(function(){
 const table=document.getElementById('videos');
 const body=table.tBodies[0];
 table.querySelectorAll('th').forEach((th,col)=>{
  if(th.dataset.type==='none')return;
  th.addEventListener('click',()=>{
   const desc=th.classList.contains('asc');
   table.querySelectorAll('th').forEach(h=>h.classList.remove('asc','desc'));
   th.classList.add(desc?'desc':'asc');
   const num=th.dataset.type==='num';
   const key=r=>{const v=r.cells[col].dataset.v;
     return num?(v===''?Infinity:parseFloat(v)):(v||'').toLowerCase();};
   const rows=[...body.rows].sort((a,b)=>{const x=key(a),y=key(b);
     return (x<y?-1:x>y?1:0)*(desc?-1:1);});
   rows.forEach(r=>body.appendChild(r));
  });
 });
 document.body.dataset.rows=body.rows.length;
 if(location.hash!=='#check-links')return;
 const urls=[...document.querySelectorAll('a[href]')].map(a=>a.getAttribute('href'))
   .concat([...document.querySelectorAll('img[src]')].map(i=>i.getAttribute('src')));
 const broken=[];let left=urls.length;
 const finish=()=>{document.body.dataset.broken=JSON.stringify(broken);
   document.body.dataset.checked=urls.length;};
 if(!left)finish();
 urls.forEach(u=>{const x=new XMLHttpRequest();
   x.onload=()=>{if(x.status>=400)broken.push(u);if(!--left)finish();};
   x.onerror=()=>{broken.push(u);if(!--left)finish();};
   try{x.open('GET',u);x.send();}catch(e){broken.push(u);if(!--left)finish();}});
})();
"""


def write_index(path: Path, table: pd.DataFrame, summary: Path | None) -> Path:
    """Write ``index.html`` (the module doc) for ``batch_summary`` rows; returns it."""
    base = Path(path).parent
    heads = ['<th data-type="none"></th>', '<th data-type="text">video</th>',
             '<th data-type="text">athlete</th>', '<th data-type="text">status</th>',
             *(f'<th data-type="num">{html.escape(h)}</th>' for _, h, _ in FIGURES),
             '<th data-type="none">files</th>']
    n_videos = table["folder"].nunique() if len(table) else 0
    failed = table.loc[table["status"] == "failed", "folder"].nunique() if len(table) else 0
    csv_link = (f' · <a href="{html.escape(summary.name)}">{html.escape(summary.name)}</a>'
                if summary is not None and summary.is_file() else "")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>spinepose-sports session: {html.escape(base.name)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>{html.escape(base.name)}</h1>
<p>{n_videos} videos, {failed} failed{csv_link}. Click a column to sort by it.
Angles: range of motion (max − min) and peak over the valid frames, in degrees.</p>
<table id="videos"><thead><tr>{"".join(heads)}</tr></thead>
<tbody>
{chr(10).join(_rows(table, base))}
</tbody></table>
<script>{_SCRIPT}</script>
</body></html>
"""
    return write_text(path, page)


__all__ = ["FIGURES", "thumbnail", "write_index"]
