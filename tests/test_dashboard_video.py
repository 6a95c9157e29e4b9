"""The dashboard plays its overlay video beside the plots; video and plots move together.

A synthetic results folder on a real generated video (an overlay rendered from it), so
headless Chromium can play the overlay; a probe script appended to a copy of the page
seeks the video and clicks a plot, and reports what the page did on ``<body>``.  The
probe goes on at the ``seeking`` event (the new time is set, the decoder may still be
busy), so the test does not wait on media decoding, which headless Chromium's virtual
time does not wait for.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from browser import body_attrs, chromium, console_errors
from render_data import make_results_folder

from spinepose_sports.plots import write_dashboard
from spinepose_sports.plots.dashboard_video import overlay_src
from spinepose_sports.render import RenderOptions, render_results
from spinepose_sports.video import VideoWriter

FPS = 15.0
N_FRAMES = 45
SEEK_S = 1.0  # the probe seeks the video here
CLICK_S = 2.2  # ... then clicks the flexion curves here (data time)

_PROBE = """
<script>
(function(){
  const b = document.body, v = document.getElementById('overlay-video');
  function cursors(){
    return JSON.stringify(['fig-kinematogram', 'fig-curves'].map(function(id){
      const s = (document.getElementById(id).layout.shapes || []).filter(function(s){
        return s.name === 'video-cursor'; });
      return s.length ? s[0].x0 : null; }));
  }
  function realClick(gd, t){
    gd.scrollIntoView();
    const L = gd._fullLayout, r = gd.getBoundingClientRect();
    const x = r.left + L._size.l + L.xaxis.l2p(t), y = r.top + L._size.t + L._size.h / 2;
    const drag = gd.querySelector('.nsewdrag');
    const opts = {clientX: x, clientY: y, bubbles: true, cancelable: true, view: window};
    drag.dispatchEvent(new MouseEvent('mousemove', opts));
    drag.dispatchEvent(new MouseEvent('mousedown', Object.assign({buttons: 1}, opts)));
    document.dispatchEvent(new MouseEvent('mouseup', opts));
  }
  function clicked(){
    b.dataset.probeClickVideoTime = v.currentTime.toFixed(4);
    b.dataset.probeClickCursors = cursors();
    b.dataset.probeDone = '1';
  }
  function seeked(){
    b.dataset.probeSeekCursors = cursors();
    v.addEventListener('seeking', function(){ setTimeout(clicked, 100); }, {once: true});
    realClick(document.getElementById('fig-curves'), CLICK_S);
  }
  function start(){
    if (b.dataset.video !== 'ready' || !b.dataset.rendered) { setTimeout(start, 50); return; }
    b.dataset.probeStartCursors = cursors();
    v.addEventListener('seeking', function(){ setTimeout(seeked, 100); }, {once: true});
    v.currentTime = SEEK_S;
  }
  start();
})();
</script>
"""


def _gradient_video(path: Path) -> Path:
    rng = np.random.default_rng(0)
    with VideoWriter(path, fps=FPS) as writer:
        for i in range(N_FRAMES):
            image = rng.integers(0, 60, (360, 480, 3), dtype=np.uint8)
            image[:, : 10 * i] += 120
            writer.write(image)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("video")
    clip = _gradient_video(root / "clip.mp4")
    results = make_results_folder(root / "clip", clip)
    render_results(results, RenderOptions(audio=False, preset="ultrafast"))
    write_dashboard(results)
    return results


def test_the_page_links_the_overlay_beside_it(folder, tmp_path) -> None:
    text = (folder / "dashboard.html").read_text()
    assert 'src="overlay.mp4"' in text and "<video" in text
    assert "base64" not in text.split('id="overlay-video"')[1][:300]  # linked, not embedded
    data = json.loads(text.split('id="video-data">')[1].split("</script>")[0])
    assert data["fps"] == FPS and len(data["times"]) == N_FRAMES
    # written elsewhere, the link still points at the results folder's video
    other = write_dashboard(folder, tmp_path / "pages" / "d.html")
    src = overlay_src(folder, other)
    assert f'src="{src}"' in other.read_text()
    assert (other.parent / src).resolve() == (folder / "overlay.mp4").resolve()


@pytest.mark.usefixtures("chromium_path")
def test_seeking_moves_the_cursor_and_a_click_seeks_the_video(folder, tmp_path) -> None:
    page = folder / "probe.html"
    probe = _PROBE.replace("CLICK_S", str(CLICK_S)).replace("SEEK_S", str(SEEK_S))
    page.write_text((folder / "dashboard.html").read_text().replace("</body>", probe + "</body>"))
    dom = chromium(page, tmp_path, "--dump-dom", "--autoplay-policy=no-user-gesture-required")
    assert dom.returncode == 0, dom.stderr[-2000:]
    attrs = body_attrs(dom.stdout)
    assert "data-js-error" not in attrs, attrs["data-js-error"]
    assert console_errors(dom.stderr) == []
    assert attrs.get("data-video") == "ready" and "has-video" in attrs.get("class", "")
    assert attrs.get("data-probe-done") == "1", json.dumps(attrs)[-600:]
    times = np.arange(N_FRAMES) / FPS
    # loaded: the cursor is at the first frame on both time plots
    assert json.loads(attrs["data-probe-start-cursors"]) == pytest.approx([0.0, 0.0])
    # seeking the video to 1.0 s moves both cursors to the frame shown then
    shown = times[int(np.floor(SEEK_S * FPS + 1e-3))]
    assert json.loads(attrs["data-probe-seek-cursors"]) == pytest.approx([shown, shown], abs=1e-3)
    # a click on the flexion curves at 2.2 s seeks the video to that frame; cursors follow
    seek = float(attrs["data-video-seek"])
    assert seek == pytest.approx(CLICK_S, abs=1.5 / FPS)  # the sample under the mouse
    frame = int(np.argmin(np.abs(times - seek)))
    assert float(attrs["data-probe-click-video-time"]) == pytest.approx((frame + 0.5) / FPS,
                                                                        abs=1e-3)
    assert json.loads(attrs["data-probe-click-cursors"]) == pytest.approx([times[frame]] * 2,
                                                                          abs=1e-3)


@pytest.mark.usefixtures("chromium_path")
def test_without_its_video_the_page_shows_the_plots_alone(tmp_path) -> None:
    folder = make_results_folder(tmp_path / "novideo", None, 60)
    page = write_dashboard(folder)
    dom = chromium(page, tmp_path, "--dump-dom")
    attrs = body_attrs(dom.stdout)
    assert attrs.get("data-rendered") == "track_3" and "data-js-error" not in attrs
    assert attrs.get("data-video") == "missing" and "has-video" not in attrs.get("class", "")
    assert console_errors(dom.stderr) == []
