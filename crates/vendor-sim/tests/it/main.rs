mod timeedit;
