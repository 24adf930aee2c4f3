"""RL Studio: a workbench for reinforcement learning on Ray RLlib and Ray Tune."""

__version__ = "0.1.0"
