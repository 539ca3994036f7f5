"""kramar's Kubernetes operator (kopf): catalog ConfigMaps in, the RAG index kept true.

The package is named `kramar_operator` because `operator` is a standard-library module. Handlers
live in `kramar_operator.handlers`; `kramar operator` (`kramar_operator.run`) starts them.
"""
