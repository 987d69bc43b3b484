"""The sales pipeline's GraphQL area: opportunities, stages, the pipeline board, the forecast."""
