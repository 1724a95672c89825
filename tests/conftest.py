import os

import torch

# Tests run small models on a 2-core machine: one thread avoids oversubscription, which costs 10-50x here.
torch.set_num_threads(1)
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
