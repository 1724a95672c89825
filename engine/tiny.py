"""Small random checkpoints in the real layout, for tests and for trying the pipeline on a laptop.

Random weights give nonsense text, but every code path (loading, encoder, decoder, sampler, anchors) runs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from engine.checkpoint import save_checkpoint
from engine.config import GenerationConfig, ModelConfig
from engine.model import DiffusionGemma
from engine.vocab import train_tokenizer

# Enough code in the languages the server knows for a byte-level BPE to learn a few hundred merges.
SAMPLE = '''\
def add(a, b):
    """Return the sum."""
    return a + b


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()


for i in range(10):
    print(i, add(i, i * 2))
'''
SAMPLE += '''\
export function greet(name: string): string {
  const message = `Hello, ${name}!`;
  return message;
}

interface Point { x: number; y: number }
const points: Point[] = [{ x: 1, y: 2 }, { x: 3, y: 4 }];
points.forEach((p) => console.log(p.x + p.y));
'''
SAMPLE += '''\
package main

import "fmt"

func main() {
\tvalues := []int{1, 2, 3}
\tfor i, v := range values {
\t\tfmt.Println(i, v)
\t}
}
'''


def tiny_config(vocab_size: int = 512, **overrides) -> ModelConfig:
    fields = dict(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, global_head_dim=32,
        num_global_key_value_heads=1, sliding_window=16, layer_types=["sliding_attention", "full_attention"],
        num_experts=4, top_k_experts=2, moe_intermediate_size=32, canvas_length=32,
    )
    fields.update(overrides)
    return ModelConfig(**fields)


def write_random_checkpoint(path: str | Path, seed: int = 0, vocab_size: int = 512, max_denoising_steps: int = 8,
                            weight_std: float = 0.02, whole_characters: bool = False, **config) -> Path:
    """config.json, generation_config.json, model.safetensors and tokenizer.json of a random model at `path`.
    ``whole_characters``: its generation config suppresses the tokens that are part of a character alone (a byte
    of one in UTF-8), so that its fills decode to text; random weights would otherwise write such bytes in most
    fills, each a U+FFFD, and those fills are not shown."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer([SAMPLE] * 4, vocab_size=vocab_size, min_frequency=1)
    tok_path = path / "tokenizer.json"
    tok.save(str(tok_path))
    cfg = tiny_config(vocab_size=vocab_size, **config)
    torch.manual_seed(seed)
    model = DiffusionGemma(cfg)
    model.init_weights(std=weight_std, seed=seed)
    gen = GenerationConfig(max_denoising_steps=max_denoising_steps, eos_token_id=cfg.eos_token_id,
                           pad_token_id=cfg.pad_token_id)
    if whole_characters:
        gen.suppress_tokens = [i for i in range(tok.get_vocab_size()) if "\ufffd" in tok.decode([i])]
    return save_checkpoint(path, model, cfg, gen, tok_path)
