"""``make soak``: load with faults on 127.0.0.1 and an audit of what survived (see
``__main__``)."""
