from idpkit.cli import main

main()
