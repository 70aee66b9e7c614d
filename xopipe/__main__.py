from xopipe.app import main

main()
