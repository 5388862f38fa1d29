from flash.cli import main

main()
