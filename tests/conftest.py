import os

import pytest
import torch

# Tests run small models on a 2-core machine: one thread avoids oversubscription, which costs 10-50x here.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
async def service():
    """The server's service without the protocol, on a random-weight checkpoint, loaded; no debounce."""
    from infill_ls.service import InfillService
    from infill_ls.settings import Settings
    from lsp_support import tiny_model

    service = InfillService(Settings(model_path=tiny_model(), device="cpu", debounce_ms=0))
    service.load_model(lambda result: None)
    assert await service.model.engine() is not None
    yield service
    service.shutdown(wait_s=30)
