from localnet.cli import main

main()
