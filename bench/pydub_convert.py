#!/usr/bin/python3
"""The audio baselines of sanzaru's benchmarks (row 7; bench/run.mjs calls it), for
Debian's /usr/bin/python3 with python3-pydub and the ffmpeg command line (Debian's
ffmpeg package; both installed by scripts/bench, for the benchmark only).

  ffmpeg IN OUT     the ffmpeg command line converting IN to MP3 as the original's
                    convert_audio asks it to (-ac 2, the encoder's defaults: LAME at
                    128 kbps), once
  pydub IN OUT      the original's path: pydub.AudioSegment.from_file(IN, "wav") then
                    .export(OUT, format="mp3", parameters=["-ac", "2"]), once, in this
                    process (pydub runs ffmpeg twice: to decode and to encode)

Times are taken inside this process (no interpreter start-up). Peak RSS: for a child
ffmpeg its own maximum resident set (wait4's rusage); for pydub this process's VmHWM
(reset through /proc/self/clear_refs before the work) and, separately, the largest of
the ffmpeg processes it ran (RUSAGE_CHILDREN). Each command prints one JSON object."""

import json
import os
import resource
import subprocess
import sys
import time


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def reset_hwm():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def cmd_ffmpeg(src, out):
    argv = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", src, "-ac", "2", out]
    t0 = time.perf_counter()
    child = subprocess.Popen(argv)
    _, status, usage = os.wait4(child.pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"ffmpeg failed with status {child.returncode}")
    print(json.dumps({"ms": ms, "maxrss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "out_bytes": os.path.getsize(out)}))


def cmd_pydub(src, out):
    from pydub import AudioSegment

    reset_hwm()
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    seg = AudioSegment.from_file(src, format="wav")
    seg.export(out, format="mp3", parameters=["-ac", "2"])
    ms = (time.perf_counter() - t0) * 1000
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "ms": ms,
        "python_hwm_kb": status_kb("VmHWM"),
        "ffmpeg_maxrss_kb": c1.ru_maxrss,
        "cpu_s": (s1.ru_utime + s1.ru_stime - s0.ru_utime - s0.ru_stime)
        + (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime),
        "out_bytes": os.path.getsize(out),
    }))


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("ffmpeg", "pydub"):
        sys.exit(__doc__)
    {"ffmpeg": cmd_ffmpeg, "pydub": cmd_pydub}[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
