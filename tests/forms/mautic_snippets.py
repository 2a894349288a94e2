# ruff: noqa: E501, W293  (verbatim text: Mautic's long lines and blank lines with spaces)
"""Mautic's form embeds, as its admin hands them out, kept verbatim for the browser tests.

Only the instance's values are placeholders: `$tracker` (Mautic's site URL, here the tracker's
origin) and `$form_id`. Everything else is the text Mautic renders.
"""

from __future__ import annotations

from string import Template

# The builder's "manual copy", first box: the script, rendered from mautic/mautic
# app/bundles/FormBundle/Resources/views/Builder/_script.html.twig (production: media/js/
# mautic-form.js; the en_US "mautic.form.submission.pleasewait" text).
MANUAL_COPY_SCRIPT = Template(
    """<script type="text/javascript">
    /** This section is only needed once per page if manually copying **/
    if (typeof MauticSDKLoaded == 'undefined') {
        var MauticSDKLoaded = true;
        var head            = document.getElementsByTagName('head')[0];
        var script          = document.createElement('script');
        script.type         = 'text/javascript';
        script.src          = '$tracker/media/js/mautic-form.js';
        script.onload       = function() {
            MauticSDK.onLoad();
        };
        head.appendChild(script);
        var MauticDomain = '$tracker';
        var MauticLang   = {
            'submittingMessage': "Please wait..."
        }
    }else if (typeof MauticSDK != 'undefined') {
        MauticSDK.onLoad();
    }
</script>"""
)

# The builder's "manual copy", second box: the form named "Contact us" (API name contactus)
# with a required email field, a text field, a text area (alias comments) and the submit
# button, rendered from mautic/mautic app/bundles/FormBundle/Resources/views/Builder/form.html.twig with
# Field/email.html.twig, Field/text.html.twig, Field/textarea.html.twig and
# Field/button.html.twig (the default successful_submit_action "top"; the en_US
# "mautic.form.field.generic.required" text). Mautic's templates write no space between
# attributes; browsers read them all the same.
MANUAL_COPY_FORM = Template(
    """<style type="text/css" scoped>
    .mauticform-field-hidden { display:none }
</style>
<div id="mauticform_wrapper_contactus" class="mauticform_wrapper">
    <form autocomplete="false" role="form" method="post" action="$tracker/form/submit?formId=$form_id" id="mauticform_contactus" data-mautic-form="contactus" enctype="multipart/form-data" ><div class="mauticform-error" id="mauticform_contactus_error"></div><div class="mauticform-message" id="mauticform_contactus_message"></div><div class="mauticform-innerform"><div id="mauticform_contactus_email"class="mauticform-row mauticform-email mauticform-field-1 mauticform-required"data-validate="email"data-validation-type="email">
  <label id="mauticform_label_contactus_email"for="mauticform_input_contactus_email"class="mauticform-label">Email</label>

  

      <input type="email" name="mauticform[email]"value=""id="mauticform_input_contactus_email"class="mauticform-input" />
  
  <span class="mauticform-errormsg" style="display:none;">This is required.</span>
</div><div id="mauticform_contactus_first_name"class="mauticform-row mauticform-text mauticform-field-2">
  <label id="mauticform_label_contactus_first_name"for="mauticform_input_contactus_first_name"class="mauticform-label">First name</label>

  

      <input type="text" name="mauticform[first_name]"value=""id="mauticform_input_contactus_first_name"class="mauticform-input" />
  
  <span class="mauticform-errormsg" style="display:none;"></span>
</div><div id="mauticform_contactus_comments"class="mauticform-row mauticform-text mauticform-field-3">
  <label id="mauticform_label_contactus_comments"for="mauticform_input_contactus_comments"class="mauticform-label">Comments</label>

  

      <textarea name="mauticform[comments]"id="mauticform_input_contactus_comments"class="mauticform-textarea"></textarea>
  
  <span class="mauticform-errormsg" style="display:none;"></span>
</div><div id="mauticform_contactus_submit"class="mauticform-row mauticform-button-wrapper mauticform-field-4">
  <button name="mauticform[submit]"value="1"id="mauticform_input_contactus_submit"class="mauticform-button"type="submit">Submit</button>
</div>
</div><input type="hidden" name="mauticform[formId]" id="mauticform_contactus_id" value="$form_id"/>
        <input type="hidden" name="mauticform[return]" id="mauticform_contactus_return" value=""/>
        <input type="hidden" name="mauticform[formName]" id="mauticform_contactus_name" value="contactus"/>
        </form>
</div>"""
)

# The form details' "iframe" embed, from mautic/mautic
# app/bundles/FormBundle/Resources/views/Form/details.html.twig (#modal-automatic-copy).
IFRAME = Template(
    """<iframe src="$tracker/form/$form_id" width="300" height="300"><p>Your browser does not support iframes.</p></iframe>"""
)

# The form details' "javascript" embed, from the same modal.
SCRIPT = Template(
    """<script type="text/javascript" src="$tracker/form/generate.js?id=$form_id"></script>"""
)
