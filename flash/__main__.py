from flash.cli import run

run()
