from rlstudio.cli import main

raise SystemExit(main())
