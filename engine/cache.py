"""Encoder KV cache reuse: a prompt that shares a token prefix with the last one encodes only its new tokens (with a
causal encoder; a bidirectional one encodes each new prompt whole)."""

from __future__ import annotations

import torch

from engine.model import DiffusionGemma, KVCache


class PrefixCache:
    def __init__(self, model: DiffusionGemma):
        self.model = model
        self.ids: list[int] = []
        self.cache: KVCache | None = None
        self.reused_tokens = 0  # of the last `encode`, for benchmarks

    def encode(self, ids: list[int]) -> KVCache:
        shared = 0
        limit = min(len(ids), len(self.ids))
        while shared < limit and ids[shared] == self.ids[shared]:
            shared += 1
        # A bidirectional encoder's keys at each position depend on the tokens after it: a changed prompt changes
        # them all, and only the same prompt again may be served from the cache.
        if self.model.cfg.encoder_bidirectional and not shared == len(ids) == len(self.ids):
            shared = 0
        # The same prompt again (a re-request at the same cursor): the cache as it is.
        if self.cache is not None and shared == len(ids) == len(self.ids):
            self.reused_tokens = shared
            return self.cache
        # Positions past the shared prefix are dropped; a shorter prompt (text deleted) needs no encoding at all.
        base = self.cache.truncate(shared) if (self.cache is not None and shared > 0) else None
        new = torch.tensor([ids[shared:]], dtype=torch.long, device=self.model.device)
        cache = self.model.encode(new, base) if new.shape[1] else base
        self.ids, self.cache, self.reused_tokens = list(ids), cache, shared
        return cache
