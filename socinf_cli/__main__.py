from socinf_cli.cli import main

main()
