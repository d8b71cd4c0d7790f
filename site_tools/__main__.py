from site_tools.cli.main import main

if __name__ == "__main__":
    main(prog_name="site-tools")
