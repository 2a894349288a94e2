# ruff: noqa: E501  (the snippets are kept as Mautic hands them out, long lines included)
"""Mautic's embed snippets, kept as Mautic hands them out; `{url}` stands for the server.

LEGACY comes verbatim from Mautic's tracking settings template,
app/bundles/PageBundle/Resources/views/FormTheme/Config/_config_trackingconfig_widget.html.twig;
the callbacks are the fourth argument Mautic's mtc.js reads
(app/bundles/CoreBundle/EventListener/BuildJsSubscriber.php, `detail.event[3].onload`).

ESSENTIAL and TRACKING_ADDON are Mautic 7's loader snippets (mautic/mautic PR #16660). The
template that renders them was not in the sources available here; they are rebuilt around every
fragment that Mautic's own test of that template asserts, kept exactly
(app/bundles/PageBundle/Tests/Functional/Controller/TrackingConfigTest.php:
"dispatchEvent('mauticEssentialReady')", "d.addEventListener('mauticEssentialReady',enableTracking)",
"w.MauticJS.runtimeReady !== true", "w['MauticTrackingObject']=n", "w[n]('send','pageview')",
"a.id='mautic-tracking-script'", "d.getElementById('mautic-tracking-script')").

FOCUS_DISPLAY is Mautic 7's focus display script embed (mautic/mautic PR #16926; developer
documentation docs/mauticjs_api/focus_scripts.rst).
"""

LEGACY = """<script>
    (function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
        w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
        m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
    }})(window,document,'script','{url}/mtc.js','mt');

    mt('send', 'pageview', {{page_title: 'Callbacks'}}, {{onload: function () {{ window.loaded = (window.loaded || 0) + 1; }}, onerror: function () {{ window.failed = true; }}}});
</script>"""

ESSENTIAL = """<script>
(function(w,d,t,u,a,m){{a=d.createElement(t),m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;a.onload=function(){{w.MauticJS.dispatchEvent('mauticEssentialReady')}};m.parentNode.insertBefore(a,m)}})(window,document,'script','{url}/mautic-essential.js');
</script>"""

TRACKING_ADDON = """<script>
(function(w,d,t,u,n){{function enableTracking(){{if(d.getElementById('mautic-tracking-script')){{return;}}w['MauticTrackingObject']=n;w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}};var a=d.createElement(t),m=d.getElementsByTagName(t)[0];a.id='mautic-tracking-script';a.async=1;a.src=u;m.parentNode.insertBefore(a,m);w[n]('send','pageview');}}if(!w.MauticJS||w.MauticJS.runtimeReady !== true){{d.addEventListener('mauticEssentialReady',enableTracking);}}else{{enableTracking();}}}})(window,document,'script','{url}/mautic-tracking.js','mt');
</script>"""

FOCUS_DISPLAY = """<script src="{url}/focus/{id}/display.js" type="text/javascript" charset="utf-8" async="async"></script>"""
