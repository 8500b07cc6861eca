"""A stand-in for the Hugging Face hub on the loopback interface, for offline rehearsals.

``server.HubServer`` serves repositories in the hub's URL layout, so that ``transformers``,
``huggingface_hub`` and ``datasets`` load from it unchanged (``HF_ENDPOINT``);
``paper.build_paper_repos`` builds tiny stand-ins for the repositories the paper config pins.
"""
