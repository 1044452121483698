"""sirocco token cache reader for JAX / numpy trainers (numpy only, local paths).

Yields exactly the batches of the TypeScript ``openTokenFeed`` for the same arguments:

    from sirocco_feed import open_token_feed
    for step, tokens in open_token_feed("cache/", seq_len=2048, global_batch=256, seed=1):
        ...  # tokens: uint32 array of shape (global_batch // host_count, seq_len)

Algorithm (see the README, "Training feed", and src/tpu-feed/token-feed.ts):

1. stream = concatenation of the tokens of ledger["parts"], in order (uint32 little endian,
   file ``<uri>/shards/<name>.tokens``).
2. window w = stream[w*seq_len:(w+1)*seq_len]; available = floor(tokens / seq_len).
3. finished cache: steps per epoch E = available // global_batch; epoch = step // E;
   in_epoch = step % E; the feed ends when epoch >= epochs. Unfinished cache: epoch 0,
   in_epoch = step, and the step waits until ``(in_epoch+1)*global_batch`` windows (rounded up
   to a multiple of shuffle_window when shuffled) are published.
4. sample g = in_epoch*global_batch + j -> window g (shuffle "none"), or, for
   shuffle "window": b = g // B, w = b*B + perm(min(B, available - b*B), key(seed, epoch, b))[g - b*B].
5. host h of H takes rows h*L .. (h+1)*L-1, L = global_batch // H.
"""

from __future__ import annotations

import json
import os
import time
from typing import Iterator, Optional, Tuple

import numpy as np

_M32 = 0xFFFFFFFF


def _fmix32_scalar(h: int) -> int:
    h &= _M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def _mix(h: int, x: int) -> int:
    return _fmix32_scalar((h ^ x) & _M32)


def permutation_key(seed: int, epoch: int, block: int) -> int:
    return _mix(_mix(_mix(0x9E3779B9, seed & _M32), epoch & _M32), block & _M32)


def window_permutation(n: int, key: int) -> np.ndarray:
    """Fisher-Yates driven by mix(key, i): the permutation of 0..n-1 used by shuffle="window"."""
    i = np.arange(n, dtype=np.uint64)
    h = (i ^ np.uint64(key)) & np.uint64(_M32)
    # fmix32 in uint64 lanes, masked to 32 bits after each multiply (exact, no overflow).
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & np.uint64(_M32)
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & np.uint64(_M32)
    h ^= h >> np.uint64(16)
    j = (h % (i + np.uint64(1))).astype(np.int64)
    p = list(range(n))
    for k in range(n - 1, 0, -1):
        jk = int(j[k])
        p[k], p[jk] = p[jk], p[k]
    return np.asarray(p, dtype=np.int64)


class TokenFeed:
    def __init__(
        self,
        uri: str,
        seq_len: int,
        global_batch: int,
        host_index: Optional[int] = None,
        host_count: Optional[int] = None,
        seed: int = 0,
        start_step: int = 0,
        shuffle: str = "window",
        shuffle_window: int = 4096,
        epochs: float = 1,
        fingerprint: Optional[dict] = None,
        poll_s: float = 0.2,
        max_poll_s: float = 5.0,
        wait_timeout_s: Optional[float] = None,
    ) -> None:
        if host_count is None:
            names = [h for h in os.environ.get("TPU_WORKER_HOSTNAMES", "").split(",") if h.strip()]
            host_count = len(names) or 1
        if host_index is None:
            host_index = int(os.environ.get("TPU_WORKER_ID", "0") or 0)
        if seq_len < 1 or global_batch < 1:
            raise ValueError("seq_len and global_batch must be positive")
        if not 0 <= host_index < host_count:
            raise ValueError(f"host_index {host_index} is not below host_count {host_count}")
        if global_batch % host_count != 0:
            raise ValueError(f"global_batch {global_batch} is not divisible by host_count {host_count}")
        if shuffle not in ("none", "window"):
            raise ValueError(f'shuffle must be "none" or "window", got {shuffle!r}')
        if not 0 <= seed <= _M32:
            raise ValueError("seed must be a uint32")
        self.root = uri.rstrip("/")
        self.seq_len, self.global_batch = seq_len, global_batch
        self.host_index, self.host_count = host_index, host_count
        self.local_batch = global_batch // host_count
        self.seed, self.start_step, self.shuffle, self.B = seed, start_step, shuffle, shuffle_window
        self.epochs = epochs
        self.fingerprint = fingerprint
        self.poll_s, self.max_poll_s, self.wait_timeout_s = poll_s, max_poll_s, wait_timeout_s
        self.ledger: Optional[dict] = None
        self._starts = np.zeros(0, dtype=np.int64)
        self._parts: dict = {}
        self._perms: dict = {}

    # -- ledger -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        if self.ledger is not None and self.ledger["finished"]:
            return
        path = os.path.join(self.root, "ledger.json")
        try:
            with open(path, "rb") as f:
                ledger = json.loads(f.read())
        except FileNotFoundError:
            return
        if ledger.get("format") != "sirocco-token-cache" or ledger.get("version") != 1:
            raise ValueError(f"{path} is not a sirocco token cache ledger of version 1")
        for k, v in (self.fingerprint or {}).items():
            if ledger["fingerprint"].get(k) != v:
                raise ValueError(f"token cache {self.root}: fingerprint {k} is {ledger['fingerprint'].get(k)!r}, expected {v!r}")
        tokens = np.array([p["tokens"] for p in ledger["parts"]], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(tokens)[:-1]]).astype(np.int64) if len(tokens) else tokens
        self.ledger = ledger

    # -- schedule ---------------------------------------------------------------------------
    def _plan(self, step: int):
        led = self.ledger
        if led is None:
            return "wait"
        gb, B = self.global_batch, self.B
        available = led["tokens"] // self.seq_len
        epoch, in_epoch = 0, step
        if led["finished"]:
            per_epoch = available // gb
            if per_epoch == 0:
                raise ValueError(f"token cache {self.root} holds fewer than one global batch of windows")
            epoch, in_epoch = divmod(step, per_epoch)
            if epoch >= self.epochs:
                return "end"
        else:
            last = (in_epoch + 1) * gb
            needed = last if self.shuffle == "none" else -(-last // B) * B
            if available < needed:
                return "wait"
        first = in_epoch * gb + self.host_index * self.local_batch
        g = np.arange(first, first + self.local_batch, dtype=np.int64)
        if self.shuffle == "none":
            return g
        out = np.empty_like(g)
        for r, gi in enumerate(g.tolist()):
            b = gi // B
            start = b * B
            n = min(B, available - start)
            k = (n, epoch, b)
            p = self._perms.get(k)
            if p is None:
                p = window_permutation(n, permutation_key(self.seed, epoch, b))
                self._perms[k] = p
            out[r] = start + p[gi - start]
        return out

    # -- data -------------------------------------------------------------------------------
    def _part(self, i: int) -> np.ndarray:
        name = self.ledger["parts"][i]["name"]
        arr = self._parts.get(name)
        if arr is None:
            arr = np.fromfile(os.path.join(self.root, "shards", name + ".tokens"), dtype="<u4")
            if len(arr) != self.ledger["parts"][i]["tokens"]:
                raise ValueError(f"part {name} has {len(arr)} tokens; the ledger says {self.ledger['parts'][i]['tokens']}")
            self._parts[name] = arr
        return arr

    def _gather(self, windows: np.ndarray) -> np.ndarray:
        L = self.seq_len
        out = np.empty((len(windows), L), dtype="<u4")
        parts = self.ledger["parts"]
        for r, w in enumerate(windows.tolist()):
            pos, dst, left = w * L, 0, L
            i = int(np.searchsorted(self._starts, pos, side="right")) - 1
            while left > 0:
                if parts[i]["tokens"] == 0 or pos >= self._starts[i] + parts[i]["tokens"]:
                    i += 1
                    continue
                data = self._part(i)
                frm = pos - int(self._starts[i])
                n = min(left, parts[i]["tokens"] - frm)
                out[r, dst : dst + n] = data[frm : frm + n]
                dst, pos, left, i = dst + n, pos + n, left - n, i + 1
        return out

    def batch(self, step: int) -> Optional[np.ndarray]:
        """This host's rows of step ``step`` (waiting while unpublished); None after the last step."""
        started, wait = time.monotonic(), self.poll_s
        while True:
            self._refresh()
            plan = self._plan(step)
            if isinstance(plan, str) and plan == "end":
                return None
            if not isinstance(plan, str):
                return self._gather(plan)
            if self.wait_timeout_s is not None and time.monotonic() - started > self.wait_timeout_s:
                raise TimeoutError(f"step {step} of {self.root} was not published in time")
            time.sleep(wait)
            wait = min(wait * 2, self.max_poll_s)

    def __iter__(self) -> Iterator[Tuple[int, np.ndarray]]:
        step = self.start_step
        while True:
            b = self.batch(step)
            if b is None:
                return
            yield step, b
            step += 1


def open_token_feed(uri: str, **kwargs) -> TokenFeed:
    """Same arguments as the TypeScript feed, in snake_case (seq_len, global_batch, host_index, ...)."""
    return TokenFeed(uri, **kwargs)


if __name__ == "__main__":
    # python3 sirocco_feed.py <uri> <out> '<json options, camelCase as in TypeScript>' <steps>
    # Writes the batches as raw uint32 LE, one after the other (what the tests compare).
    import sys

    uri, out, opts_json, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    o = json.loads(opts_json)
    names = {"seqLen": "seq_len", "globalBatch": "global_batch", "hostIndex": "host_index", "hostCount": "host_count",
             "seed": "seed", "startStep": "start_step", "shuffle": "shuffle", "shuffleWindow": "shuffle_window", "epochs": "epochs"}
    feed = open_token_feed(uri, **{names[k]: v for k, v in o.items() if k in names})
    got = []
    with open(out, "wb") as f:
        for step, tokens in feed:
            f.write(tokens.astype("<u4").tobytes())
            got.append(step)
            if len(got) == steps:
                break
    with open(out + ".json", "w") as f:
        json.dump({"steps": got, "localBatch": feed.local_batch}, f)
