"""Platform services every flow uses: settings, storage, queues, email, HTTP client base."""
