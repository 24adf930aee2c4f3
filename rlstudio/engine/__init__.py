"""Everything that talks to Ray, RLlib, Tune and torch. Import submodules directly; nothing here is eager."""
