from site_tools.cli.main import main

main(prog_name="site-tools")
