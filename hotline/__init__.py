"""hotline: the 12333 IVR and call-routing controller for Asterisk.

The namespace for everything outside the design card's folders (`ivr/` the flow engine,
`routing/` who answers, `recordings/` every call's audio): the Asterisk wire (`pbx`), the one
composition root (`controller`), the features it attaches (`supervisor`, `surveys`,
`matters`), the records (`store`), the command line (`cli`) and the developers' sandbox.
"""
