#!/usr/bin/python3
"""Baselines in Python for sanzaru's benchmarks (run with Debian's /usr/bin/python3 and
python3-pil; bench/run.mjs calls it).

  make-input OUT.png            a deterministic 2048x2048 RGB test picture
  single IN OUTDIR MODE REPS    prepare IN -> 1280x720 in MODE, REPS times, one at a time
  concurrent IN OUTDIR MODE N   N preparations at once on N threads (as the original
                                server does with anyio.to_thread), one run
  seed-method REPS              the original's four async workloads, measured both ways

The preparation does what the original's prepare_reference_image does with Pillow:
open, convert to RGB, then crop (Lanczos resize to cover, centre crop), pad (thumbnail
with Lanczos, pasted centred on black) or rescale (Lanczos resize), then save as PNG.
Times are taken inside the process (no interpreter start-up); peak RSS is VmHWM of this
process, reset through /proc/self/clear_refs before the measured work.
Each command prints one JSON object."""

import asyncio
import base64
import json
import os
import random
import sys
import tempfile
import threading
import time

from PIL import Image, ImageChops, ImageFilter

TARGET = (1280, 720)


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def make_input(out):
    """Mandelbrot, gradients and blurred seeded noise: detail that a PNG encoder and a
    Lanczos filter both have to work on, identical on every run."""
    size = (2048, 2048)
    rng = random.Random(20240601)
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    noise = noise.filter(ImageFilter.GaussianBlur(1.2))
    mandel = Image.effect_mandelbrot(size, (-2.2, -1.6, 1.0, 1.6), 192)
    grad = Image.linear_gradient("L").resize(size)
    r = ImageChops.blend(mandel, grad, 0.45)
    g = ImageChops.blend(grad.rotate(90), noise, 0.35)
    b = ImageChops.blend(mandel.rotate(180), noise, 0.25)
    Image.merge("RGB", (r, g, b)).save(out, "PNG")
    print(json.dumps({"path": out, "bytes": os.path.getsize(out)}))


def prepare(src, dst, mode):
    img = Image.open(src)
    if img.mode != "RGB":
        img = img.convert("RGB")
    tw, th = TARGET
    if mode == "crop":
        if img.width / img.height > tw / th:
            nw, nh = int(img.width * th / img.height), th
        else:
            nw, nh = tw, int(img.height * tw / img.width)
        img = img.resize((nw, nh), Image.Resampling.LANCZOS)
        left, top = (nw - tw) // 2, (nh - th) // 2
        img = img.crop((left, top, left + tw, top + th))
    elif mode == "pad":
        img.thumbnail((tw, th), Image.Resampling.LANCZOS)
        canvas = Image.new("RGB", (tw, th), (0, 0, 0))
        canvas.paste(img, ((tw - img.width) // 2, (th - img.height) // 2))
        img = canvas
    elif mode == "rescale":
        img = img.resize((tw, th), Image.Resampling.LANCZOS)
    else:
        raise SystemExit(f"unknown mode {mode}")
    img.save(dst, "PNG")
    return img.size


def cmd_single(src, outdir, mode, reps):
    times = []
    prepare(src, os.path.join(outdir, "warm.png"), mode)  # imports and caches warm
    reset_hwm()
    for i in range(reps):
        dst = os.path.join(outdir, f"pil_{mode}_{i}.png")
        t0 = time.perf_counter()
        prepare(src, dst, mode)
        times.append((time.perf_counter() - t0) * 1000)
        size = os.path.getsize(dst)
        os.unlink(dst)
    os.unlink(os.path.join(outdir, "warm.png"))
    print(json.dumps({"mode": mode, "ms": times, "hwm_kb": status_kb("VmHWM"), "file_bytes": size}))


def cmd_concurrent(src, outdir, mode, n):
    prepare(src, os.path.join(outdir, "warm.png"), mode)
    os.unlink(os.path.join(outdir, "warm.png"))
    reset_hwm()
    lat = [0.0] * n

    def work(i):
        t = time.perf_counter()
        prepare(src, os.path.join(outdir, f"pil_conc_{i}.png"), mode)
        lat[i] = (time.perf_counter() - t) * 1000

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = (time.perf_counter() - t0) * 1000
    hwm = status_kb("VmHWM")
    for i in range(n):
        os.unlink(os.path.join(outdir, f"pil_conc_{i}.png"))
    print(json.dumps({"mode": mode, "n": n, "wall_ms": wall, "lat_ms": lat, "hwm_kb": hwm}))


# ---- the original's async benchmark, measured both ways ----------------------------
# Same four workloads as its docs/benchmarks/async_benchmark.py (10 Pillow resizes of a
# 2048x2048 image to 1280x720, 20 writes of 100 KB, 15 base64 decodes of 1 MiB, and a mix
# of 5 + 10 + 8), each run once one at a time and once all at once with
# asyncio.to_thread. The original's "speedup" is sum(task latencies) / wall time of the
# concurrent run; the true speedup is wall(sequential) / wall(concurrent).


def w_resize(i, _tmp):
    img = Image.new("RGB", (2048, 2048), color=(i * 20 % 256, 100, 150))
    img = img.resize((1280, 720), Image.Resampling.LANCZOS)
    img.crop((0, 0, 1280, 720))


def w_write(i, tmp):
    with open(os.path.join(tmp, f"w{i}.bin"), "wb") as f:
        f.write(b"x" * (100 * 1024))


ENCODED = base64.b64encode(b"x" * (1024 * 1024)).decode()


def w_decode(_i, _tmp):
    base64.b64decode(ENCODED)


WORKLOADS = {
    "image_prep": [(w_resize, 10)],
    "file_writes": [(w_write, 20)],
    "base64": [(w_decode, 15)],
    "mixed": [(w_resize, 5), (w_write, 10), (w_decode, 8)],
}


def tasks_of(name):
    out = []
    for fn, n in WORKLOADS[name]:
        out.extend((fn, i) for i in range(n))
    return out


async def run_concurrent(tasks, tmp):
    async def one(fn, i):
        t = time.perf_counter()
        await asyncio.to_thread(fn, i, tmp)
        return time.perf_counter() - t

    t0 = time.perf_counter()
    lat = await asyncio.gather(*(one(fn, i) for fn, i in tasks))
    return time.perf_counter() - t0, lat


def run_sequential(tasks, tmp):
    t0 = time.perf_counter()
    for fn, i in tasks:
        fn(i, tmp)
    return time.perf_counter() - t0


def cmd_seed_method(reps):
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in WORKLOADS:
            tasks = tasks_of(name)
            run_sequential(tasks, tmp)  # warm
            rows = []
            for _ in range(reps):
                seq = run_sequential(tasks, tmp)
                wall, lat = asyncio.run(run_concurrent(tasks, tmp))
                rows.append({"seq_ms": seq * 1000, "conc_ms": wall * 1000,
                             "overlap": sum(lat) / wall, "speedup": seq / wall})
            out[name] = {"ops": len(tasks), "runs": rows}
    print(json.dumps(out))


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd = argv[1]
    if cmd == "make-input":
        make_input(argv[2])
    elif cmd == "single":
        cmd_single(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "concurrent":
        cmd_concurrent(argv[2], argv[3], argv[4], int(argv[5]))
    elif cmd == "seed-method":
        cmd_seed_method(int(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
